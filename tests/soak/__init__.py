"""`make soak`: an hour of everything going wrong (`python -m tests.soak`; see __main__)."""
