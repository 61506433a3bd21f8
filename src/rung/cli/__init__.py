"""The ``rung`` command: run, resume, list and inspect studies from YAML specs (see ``main``)."""
