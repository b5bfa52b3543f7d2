"""The window's panels; each renders part of the config or of a run and writes user intent back."""
