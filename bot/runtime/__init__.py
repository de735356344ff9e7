"""Running the assistant's parts: the Rasa environment, training, and the processes."""
