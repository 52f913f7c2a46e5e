package clientele

// CheckRateBounds checks a project entry's ratePerHour and costPerHour on
// their own: each, when given, from 0 to MaxRate. prefix is prepended to
// the field names ("projectRates[0]." and so on; "" at the top level).
func CheckRateBounds(prefix string, rate, cost *float64, f *Fields) {
	if rate != nil {
		checkRate(prefix+"ratePerHour", *rate, f)
	}
	if cost != nil {
		checkRate(prefix+"costPerHour", *cost, f)
	}
}

// CheckRateBilling is the one rule for rates against a project's billing:
// ratePerHour and costPerHour apply only to staff_hours projects. It is used
// by every route that sets either on a user's project entry.
func CheckRateBilling(prefix, billing string, rate, cost *float64, f *Fields) {
	if billing == StaffHours {
		return
	}
	if rate != nil {
		f.Add(prefix+"ratePerHour", "the project bills %s: ratePerHour applies only to staff_hours projects", billing)
	}
	if cost != nil {
		f.Add(prefix+"costPerHour", "the project bills %s: costPerHour applies only to staff_hours projects", billing)
	}
}
