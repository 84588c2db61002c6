"""Which model version answers: the per-modality version servers, the background warm-up and the
app's composition root (AppContext). Imports core only."""
