"""The flat layout's module names (`keras_attention.config`, `.data`, `.convert`, ...).

This folder is on `keras_attention.__path__`, so `import keras_attention.config` finds
`config.py` here, which puts the module's new home (`keras_attention.training.config`) in its
place in `sys.modules`: the old name and the new one are the same module object, and code written
for the flat layout keeps working. `keras_attention.MOVED` lists them. Nothing in the package
imports these names; they import nothing but their target.
"""
