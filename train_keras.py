"""Train an attention network with model.fit: the keras-attention command line, from a clone.

With no arguments, an SE-ResNet-20 trained on the bundled handwritten digits (offline, about a
minute on two CPU cores, results in runs/digits-cifar_resnet20-se). The installed package gives
the same command as `keras-attention` and `python -m keras_attention`:

    python train_keras.py --model cifar_resnet164 --attention spem --dataset cifar10 \\
        --recipe spem_cifar --output-dir runs/spem164
    python train_keras.py tune --model cifar_se_resnet18 --fix attention=se --max-trials 20
    python train_keras.py export runs/digits-cifar_resnet20-se
    python train_keras.py list
    python train_keras.py profile resnet50 --attention ssa

`python train_keras.py --help` lists the commands.
"""

import sys

from keras_attention.cli import main

if __name__ == "__main__":
    sys.exit(main())
