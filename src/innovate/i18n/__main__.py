"""``python -m innovate.i18n update|compile|init LANG|check``: see :mod:`innovate.i18n.catalogs`."""

import sys

from innovate.i18n.catalogs import main

sys.exit(main(sys.argv[1:]))
