import sys

from massline.cli import main

sys.exit(main())
