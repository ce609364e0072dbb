"""Communities: standing rooms any employee starts, their directory, and the administrators'
care of them (hand-over, archiving, the ones left without an owner)."""
