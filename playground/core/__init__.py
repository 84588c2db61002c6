"""The ground floor: settings, errors, the database handle, storage, the app secret, rate limits
and moderation rules. Imports nothing else from playground."""
