"""The Gradio app and its ASGI layers (guard, origins, sessions), the server launch and the UI tabs.
Imports services, serving and core."""
