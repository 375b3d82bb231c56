"""The figures of each study, in one house style (``style``)."""
