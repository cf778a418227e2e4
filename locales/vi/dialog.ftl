## The feedback dialog.
