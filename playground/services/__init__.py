"""One module per use case (generation, ratings, annotation, arena, insights, export, ...): plain
functions over an AppContext, no Gradio. Imports serving and core."""
