"""The progress bar every long piece of work shows on stderr (tqdm, made safe to interrupt).

Ctrl-C or SIGTERM raises its exception wherever the main thread happens to
be, and that can be inside tqdm's own __init__, before the bar has the
attributes tqdm's __del__ reads.  tqdm (4.70) then prints an "Exception
ignored … AttributeError" traceback under the command's one-line
"interrupted" message.  `ProgressBar` lets a half-built bar go quietly.
"""

from tqdm import tqdm


class ProgressBar(tqdm):
    """tqdm, whose clean-up stays quiet when a signal cut its __init__ short."""

    def __del__(self):
        try:
            super().__del__()
        except AttributeError:          # __init__ was interrupted: a half-built bar
            pass
