"""QThread workers: the only Studio code that calls torch-side ukan_core (imported inside run())."""
