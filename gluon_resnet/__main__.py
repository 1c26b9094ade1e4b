"""``python -m gluon_resnet``: the ``gluon-resnet`` command."""
import sys

from .cli import main

sys.exit(main())
