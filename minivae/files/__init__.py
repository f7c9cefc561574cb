"""What minivae writes and reads on disk: checkpoints, history, figures, downloads.

    atomic.py       every file appears complete or not at all
    checkpoint.py   one .npz holding all a run needs to continue exactly
    history.py      the per-epoch history (CSV and JSON) and its summary line
    plots.py        figures: image grids (Fig. 7, 8) and loss curves
    download.py     verified downloads (MNIST's files)
    overwrite.py    which existing file a command may write over (a file the user names)
    run_lock.py     one writer per run folder: an OS lock that dies with its process
    run_folder.py   what train checks in a run folder before writing into it
"""
