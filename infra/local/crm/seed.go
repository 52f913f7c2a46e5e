package crm

// seed stores the demo records: four accounts, a dozen contacts (one
// without an email, one without an account), three deals.
func (c *CRM) seed() {
	acme := c.AddAccount(Account{Name: "Acme Corp", Website: "https://acme.example", Street: "1 Market St", City: "San Francisco", State: "CA", PostalCode: "94105", Country: "USA"})
	globex := c.AddAccount(Account{Name: "Globex GmbH", Website: "https://globex.example", Street: "Friedrichstraße 10", City: "Berlin", PostalCode: "10117", Country: "Germany"})
	initech := c.AddAccount(Account{Name: "Initech Ltd", Website: "https://initech.example", Street: "22 Baker Street", City: "London", PostalCode: "NW1 6XE", Country: "United Kingdom"})
	umbrella := c.AddAccount(Account{Name: "Umbrella Pty", Street: "5 George St", City: "Sydney", State: "NSW", PostalCode: "2000", Country: "Australia"})
	for _, k := range []Contact{
		{FirstName: "Alice", LastName: "Anders", Email: "alice@acme.example", AccountID: acme.ID},
		{FirstName: "Bob", LastName: "Baker", Email: "bob@acme.example", AccountID: acme.ID},
		{FirstName: "Carol", LastName: "Chen", Email: "carol@acme.example", AccountID: acme.ID},
		{FirstName: "Dieter", LastName: "Dorn", Email: "dieter@globex.example", AccountID: globex.ID},
		{FirstName: "Eva", LastName: "Engel", Email: "eva@globex.example", AccountID: globex.ID},
		{FirstName: "Frank", LastName: "Fischer", AccountID: globex.ID}, // no email
		{FirstName: "Grace", LastName: "Green", Email: "grace@initech.example", AccountID: initech.ID},
		{FirstName: "Harry", LastName: "Hughes", Email: "harry@initech.example", AccountID: initech.ID},
		{FirstName: "Ivy", LastName: "Irwin", Email: "ivy@umbrella.example", AccountID: umbrella.ID},
		{FirstName: "Jack", LastName: "Jones", Email: "jack@umbrella.example", AccountID: umbrella.ID},
		{FirstName: "Kim", LastName: "Kowalski", Email: "kim@freelance.example"}, // no account
		{LastName: "Lopez", Email: "lopez@acme.example", AccountID: acme.ID},     // no first name
	} {
		c.AddContact(k)
	}
	c.AddDeal(Deal{Name: "Acme website relaunch", AccountID: acme.ID, Stage: "Qualification"})
	c.AddDeal(Deal{Name: "Globex onboarding", AccountID: globex.ID, Stage: "Closed Won"})
	c.AddDeal(Deal{Name: "Initech support renewal", AccountID: initech.ID, Stage: "Negotiation/Review"})
}
