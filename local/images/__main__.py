import sys

from local.images.main import main

sys.exit(main())
