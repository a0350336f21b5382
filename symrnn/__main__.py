from symrnn.cli import main

raise SystemExit(main())
