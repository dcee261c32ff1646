"""keystile's test suite."""

import os

# pytest-xdist starts its workers with COLUMNS=80 in their environment. keystile's CLI makes
# its rich consoles at import, and a console keeps the COLUMNS it saw then: every command run
# in process (tests/support.py keystile_in_process) would print 80 columns wide whatever
# COLUMNS the test gives it. Without COLUMNS at import, a console reads it when it prints.
os.environ.pop("COLUMNS", None)
