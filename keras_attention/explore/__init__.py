"""Looking into networks: parameters, MACs and latency (`profiling`), attention maps, Grad-CAM
and block comparisons (`visualize`), and the figures they draw on (`figures`).

Floor 3: imports floors 0 to 2 (`layers`, `models`); matplotlib only when a figure is drawn.
"""
