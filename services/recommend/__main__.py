import sys

from services.recommend.main import main

sys.exit(main())
