"""Figures for files and for notebooks, without switching matplotlib's backend.

Files (training curves, search scores, comparison plots) are drawn on a
`matplotlib.figure.Figure` that no backend manages, so writing them never changes what a
notebook or a user's program shows; figures meant to be looked at (`keras_attention.visualize`)
come from pyplot, so that Jupyter displays them.
"""


def new_figure(rows, columns, figsize, for_file=False):
    """`(figure, axes)` with `axes` a 2-D array of `rows` x `columns` subplots."""
    if for_file:
        from matplotlib.figure import Figure

        figure = Figure(figsize=figsize)
        return figure, figure.subplots(rows, columns, squeeze=False)
    import matplotlib.pyplot as plt

    return plt.subplots(rows, columns, figsize=figsize, squeeze=False)
