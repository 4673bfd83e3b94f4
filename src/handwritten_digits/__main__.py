from handwritten_digits.cli import main

raise SystemExit(main())
