"""`python -m ukan_core` runs the `ukan` command line."""

from ukan_core.cli.main import main

raise SystemExit(main())
