package crm

import "context"

// Position is where a listing resumes: item Offset of provider page Page.
// The zero value is the start. It is only meaningful for the same query and
// connector (provider page sizes differ).
type Position struct {
	Page   int
	Offset int
}

// maxPagesPerList bounds the pages one ListContacts call reads, so that a
// provider answering empty pages with More set cannot loop it forever.
const maxPagesPerList = 100

// ListContacts returns up to limit contacts matching q (all when empty)
// from position from, reading as many provider pages as it takes, and the
// position of the next unread contact, nil at the end. Successive calls
// from the returned position neither skip nor repeat a contact while the
// CRM's data does not change.
func ListContacts(ctx context.Context, c Connector, q string, from Position, limit int) ([]Contact, *Position, error) {
	if limit <= 0 {
		limit = 50
	}
	page, off := max(from.Page, 1), max(from.Offset, 0)
	items := make([]Contact, 0, limit)
	for range maxPagesPerList {
		p, err := c.ContactsPage(ctx, q, page)
		if err != nil {
			return nil, nil, err
		}
		avail := p.Items[min(off, len(p.Items)):]
		if need := limit - len(items); len(avail) > need {
			return append(items, avail[:need]...), &Position{Page: page, Offset: off + need}, nil
		}
		items = append(items, avail...)
		if !p.More {
			return items, nil, nil
		}
		page, off = page+1, 0
		if len(items) == limit {
			break
		}
	}
	return items, &Position{Page: page}, nil
}
