"""``python -m app``: start the desktop app."""

from app.main import main

raise SystemExit(main())
