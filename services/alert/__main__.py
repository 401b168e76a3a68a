import sys

from services.alert.main import main

sys.exit(main())
