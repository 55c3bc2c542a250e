"""One QObject per job of the window: its state, its worker (started through JobController), its panel.

Jobs: segment · retrain · explain · generate (and train a generator) · export (masks) · model
(selection, roll back, model export) · warmup (torch and the device at start).
The window's other concerns: job_status (progress bar, Cancel, how each job ended) · folder (open,
recent, save now) · navigation (list, filter, current image on the canvas) · view (tools, brush,
overlay, theme) · help (about, shortcuts, first-run card) · action_states (what can run now).
"""
