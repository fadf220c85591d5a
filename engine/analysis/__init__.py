"""What the engine learns from an uploaded video, and how it maps onto the edited timeline."""
