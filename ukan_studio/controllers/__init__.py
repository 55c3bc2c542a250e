"""One QObject per job of the window: its state, its worker (started through JobController), its panel.

segment · retrain · explain · generate (and train a generator) · export (masks) · model (selection,
roll back, model export) · job_status (progress bar, Cancel, what each job did) · folder (open,
recent, navigation) · view (tools, brush, overlay, theme) · help (about, shortcuts, first-run card).
"""
