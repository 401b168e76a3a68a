import sys

from services.classify.main import main

sys.exit(main())
