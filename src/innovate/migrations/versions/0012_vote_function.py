"""A vote in one round trip on PostgreSQL: ``innovate_cast_vote()``.

The statements a vote runs after its access checks (the rate count, the membership's lock,
the old vote, the budget, the upsert or delete, the tally and its rank) in one PL/pgSQL
function, called inside the vote's transaction. Each statement in it takes a fresh snapshot
as a separate statement would, so locks and budgets hold exactly as before. SQLite runs the
same statements one by one (they cost microseconds in-process).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# innovate.rooms.ideas.ranking.wilson_lower_bound, at 95 % confidence.
WILSON = """
CREATE FUNCTION innovate_wilson_lower_bound(up integer, down integer) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN up + down = 0 THEN 0.0::double precision ELSE
        (up::float8 / (up + down) + 3.8414588206941254 / (2 * (up + down))
         - 1.959963984540054 * sqrt((up::float8 / (up + down) * (1 - up::float8 / (up + down))
                                     + 3.8414588206941254 / (4 * (up + down))) / (up + down)))
        / (1 + 3.8414588206941254 / (up + down)) END
$$
"""

# p_value 0 retracts. p_budget is NULL outside budget rooms, p_rate_key NULL for those the
# rate does not limit. outcome: 'ok'; 'unchanged' (the vote already was so: nothing written);
# 'rate' (over the limit: rate_used counts this attempt) or 'budget' (not enough dots), after
# which the caller raises and its transaction rolls the attempt's count back.
CAST_VOTE = """
CREATE FUNCTION innovate_cast_vote(
    p_room_id integer, p_idea_id integer, p_user_id integer, p_membership_id integer, p_value integer,
    p_mode text, p_budget integer,
    p_rate_key text, p_rate_limit integer, p_rate_stamp timestamptz, p_rate_cutoff timestamptz, p_now timestamptz,
    OUT outcome text, OUT rate_used integer, OUT spent_before integer, OUT spent integer, OUT old_value integer,
    OUT new_up integer, OUT new_down integer, OUT new_score integer, OUT new_voters integer,
    OUT new_rank_top double precision)
LANGUAGE plpgsql AS $$
DECLARE
    oldest timestamptz;
    d_up integer;
    d_down integer;
BEGIN
    IF p_rate_key IS NOT NULL THEN
        -- Bump first, then sum: parallel attempts meet at the bucket's row (innovate.accounts.throttles).
        INSERT INTO rate_counters AS c (key, window_start, count) VALUES (p_rate_key, p_rate_stamp, 1)
        ON CONFLICT (key, window_start) DO UPDATE SET count = c.count + 1;
        SELECT coalesce(sum(CASE WHEN c.window_start > p_rate_cutoff THEN c.count ELSE 0 END), 0), min(c.window_start)
        INTO rate_used, oldest FROM rate_counters c WHERE c.key = p_rate_key;
        IF rate_used > p_rate_limit THEN
            outcome := 'rate';
            RETURN;
        END IF;
        IF oldest <= p_rate_cutoff THEN
            DELETE FROM rate_counters c WHERE c.key = p_rate_key AND c.window_start <= p_rate_cutoff;
        END IF;
    END IF;
    -- A member's votes in a room serialize on their membership row.
    SELECT m.votes_spent INTO spent_before FROM memberships m WHERE m.id = p_membership_id FOR UPDATE;
    SELECT v.value INTO old_value FROM votes v WHERE v.idea_id = p_idea_id AND v.user_id = p_user_id;
    old_value := coalesce(old_value, 0);
    spent := spent_before;
    IF p_budget IS NOT NULL THEN
        IF p_value <> 0 AND spent_before + p_value - old_value > p_budget THEN
            outcome := 'budget';
            RETURN;
        END IF;
        IF p_value <> old_value THEN
            UPDATE memberships m SET votes_spent = m.votes_spent + p_value - old_value
            WHERE m.id = p_membership_id RETURNING m.votes_spent INTO spent;
        END IF;
    END IF;
    IF p_value = old_value THEN
        outcome := 'unchanged';
        RETURN;
    END IF;
    IF p_value = 0 THEN
        DELETE FROM votes v WHERE v.idea_id = p_idea_id AND v.user_id = p_user_id;
    ELSE
        INSERT INTO votes AS v (room_id, idea_id, user_id, value, created_at, updated_at)
        VALUES (p_room_id, p_idea_id, p_user_id, p_value, p_now, p_now)
        ON CONFLICT (idea_id, user_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;
    END IF;
    -- One member's contribution: voters for and against in up/down rooms, dots or approvals otherwise.
    IF p_mode = 'updown' THEN
        d_up := (p_value > 0)::integer - (old_value > 0)::integer;
        d_down := (p_value < 0)::integer - (old_value < 0)::integer;
    ELSE
        d_up := greatest(p_value, 0) - greatest(old_value, 0);
        d_down := 0;
    END IF;
    UPDATE ideas i SET
        up = i.up + d_up, down = i.down + d_down, score = i.score + p_value - old_value,
        voters = i.voters + (p_value <> 0)::integer - (old_value <> 0)::integer,
        rank_top = CASE WHEN p_mode = 'updown' THEN innovate_wilson_lower_bound(i.up + d_up, i.down + d_down)
                        ELSE (i.score + p_value - old_value)::double precision END
    WHERE i.id = p_idea_id
    RETURNING i.up, i.down, i.score, i.voters, i.rank_top
    INTO new_up, new_down, new_score, new_voters, new_rank_top;
    outcome := 'ok';
END
$$
"""


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(WILSON)
    op.execute(CAST_VOTE)


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION innovate_cast_vote(integer, integer, integer, integer, integer, text, integer, "
               "text, integer, timestamptz, timestamptz, timestamptz)")
    op.execute("DROP FUNCTION innovate_wilson_lower_bound(integer, integer)")
