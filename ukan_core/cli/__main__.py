"""`python -m ukan_core.cli` runs the `ukan` command line (as does `python -m ukan_core.cli.main`)."""

from ukan_core.cli.main import main

raise SystemExit(main())
