"""The shared words of mtjlab: the ArrayBackend contract, limits, states, schemes, checks,
progress events, patterns and the bench's wiring as data. Imports nothing else of mtjlab."""
