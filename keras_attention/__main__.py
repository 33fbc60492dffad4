"""`python -m keras_attention`: the keras-attention command line."""

import sys

from keras_attention.cli import main

sys.exit(main())
