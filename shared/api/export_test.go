package api

// SetReminderPage sets how many index entries a reminders run reads per
// Query, so that tests cross pages with a few users; it returns the undo.
func SetReminderPage(n int) func() {
	old := reminderPage
	reminderPage = n
	return func() { reminderPage = old }
}
