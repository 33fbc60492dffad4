"""What a run writes and prints: the run folder on disk (`run_folder`: its files, atomic writes,
checksums, the lock), progress lines (`progress`) and TensorFlow's C++ logs kept off the
terminal (`quiet`).

Floor 0: imports the standard library and `keras_attention.errors` only, so that every folder
above can use it and the command line can before a backend loads.
"""
