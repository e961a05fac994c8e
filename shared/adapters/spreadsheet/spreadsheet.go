// Package spreadsheet reads a shop's ledger from spreadsheets (CSV with a header
// row, UTF-8, as Excel and Google Sheets export it): customers, and orders one
// line per item.
package spreadsheet

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// Customers reads customers. Columns (by header name, any order):
// customer_id (required), name, email, line_user_id, preferred_channel,
// email_consent, line_consent (true/false; default true when the contact is
// given), birthday (YYYY-MM-DD), gender (female/male/other, 女性/男性), timezone, signed_up_at (YYYY-MM-DD or RFC 3339), tags (space separated).
func Customers(r io.Reader, now time.Time) ([]*customer.Customer, error) {
	rows, err := read(r, "customer_id")
	if err != nil {
		return nil, fmt.Errorf("customers CSV: %w", err)
	}
	var out []*customer.Customer
	for _, row := range rows {
		c := &customer.Customer{
			ID: row.get("customer_id"), Name: row.get("name"), Email: row.get("email"),
			LINEUserID: row.get("line_user_id"), PreferredChannel: customer.Channel(row.get("preferred_channel")),
			Timezone: row.get("timezone"), SignedUpAt: now,
		}
		if err := customer.ValidID("customer_id", c.ID); err != nil {
			return nil, row.errorf("%v", err)
		}
		switch c.PreferredChannel {
		case "", customer.LINE, customer.Email:
		default:
			return nil, row.errorf("preferred_channel %q: want line or email", c.PreferredChannel)
		}
		if c.Consent.Email, err = row.boolean("email_consent", c.Email != ""); err != nil {
			return nil, err
		}
		if c.Consent.LINE, err = row.boolean("line_consent", c.LINEUserID != ""); err != nil {
			return nil, err
		}
		if err := c.SetBirthday(row.get("birthday")); err != nil {
			return nil, row.errorf("%v", err)
		}
		if c.Gender, err = customer.ParseGender(row.get("gender")); err != nil {
			return nil, row.errorf("%v", err)
		}
		if s := row.get("signed_up_at"); s != "" {
			if c.SignedUpAt, err = parseTime(s); err != nil {
				return nil, row.errorf("signed_up_at: %v", err)
			}
		}
		if tz := c.Timezone; tz != "" {
			if _, err := time.LoadLocation(tz); err != nil {
				return nil, row.errorf("timezone %q: %v", tz, err)
			}
		}
		c.Tags = strings.Fields(row.get("tags"))
		out = append(out, c)
	}
	return out, nil
}

// Orders reads orders, one line per item; lines with the same order_id make
// one order. Columns: order_id, customer_id, ordered_at (YYYY-MM-DD or RFC 3339;
// empty means now), item_name, quantity, price (yen per unit), sku,
// referral_code (the code of the customer who introduced the buyer, on the
// order's first line), points_used (the points paid with, on any one line of
// the order), and, for buyers not in the ledger yet, name, email,
// line_user_id.
func Orders(r io.Reader, now time.Time) ([]customer.Order, error) {
	out, _, err := OrdersWithLines(r, now)
	return out, err
}

// OrdersWithLines is Orders, with the CSV line each order starts on, so that
// an order refused later (more points than the customer has) names its row.
func OrdersWithLines(r io.Reader, now time.Time) ([]customer.Order, map[string]int, error) {
	rows, err := read(r, "order_id", "customer_id", "price")
	if err != nil {
		return nil, nil, fmt.Errorf("orders CSV: %w", err)
	}
	var out []customer.Order
	index := map[string]int{}
	lines := map[string]int{}
	for _, row := range rows {
		id := row.get("order_id")
		if id == "" {
			return nil, nil, row.errorf("order_id is empty")
		}
		qty, err := row.integer("quantity", 1)
		if err != nil {
			return nil, nil, err
		}
		price, err := row.integer("price", 0)
		if err != nil {
			return nil, nil, err
		}
		i, seen := index[id]
		if !seen {
			o := customer.Order{ID: id, CustomerID: row.get("customer_id"), OrderedAt: now, ReferralCode: row.get("referral_code"),
				Contact: customer.Contact{Name: row.get("name"), Email: row.get("email"), LINEUserID: row.get("line_user_id")}}
			if s := row.get("ordered_at"); s != "" {
				if o.OrderedAt, err = parseTime(s); err != nil {
					return nil, nil, row.errorf("ordered_at: %v", err)
				}
			}
			out = append(out, o)
			i = len(out) - 1
			index[id] = i
			lines[id] = row.line
		}
		o := &out[i]
		if used, err := row.integer("points_used", 0); err != nil {
			return nil, nil, err
		} else if used > 0 {
			if o.PointsUsed > 0 && o.PointsUsed != used {
				return nil, nil, row.errorf("points_used %d: order %s says %d on another line", used, id, o.PointsUsed)
			}
			o.PointsUsed = used
		}
		o.Items = append(o.Items, customer.Item{SKU: row.get("sku"), Name: row.get("item_name"), Quantity: int(qty), Price: price})
		if qty < 0 || qty > customer.MaxQuantity || price < 0 || price > customer.MaxOrderTotal {
			return nil, nil, row.errorf("quantity must be 0 to %d and price 0 to %d yen", customer.MaxQuantity, int64(customer.MaxOrderTotal))
		}
		o.Total += qty * price // bounded: Validate refuses an order whose lines add up past MaxOrderTotal
	}
	for _, o := range out {
		if err := o.Validate(); err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", lines[o.ID], err)
		}
	}
	return out, lines, nil
}

type row struct {
	line   int
	cols   map[string]int
	fields []string
}

func (r row) get(name string) string {
	if i, ok := r.cols[name]; ok && i < len(r.fields) {
		return strings.TrimSpace(r.fields[i])
	}
	return ""
}

func (r row) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: %s", r.line, fmt.Sprintf(format, args...))
}

func (r row) boolean(name string, def bool) (bool, error) {
	s := r.get(name)
	if s == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, r.errorf("%s %q: want true or false", name, s)
	}
	return b, nil
}

func (r row) integer(name string, def int64) (int64, error) {
	s := strings.ReplaceAll(r.get(name), ",", "")
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, r.errorf("%s %q: want a whole number", name, s)
	}
	return n, nil
}

func read(r io.Reader, required ...string) ([]row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i // Excel writes a BOM
	}
	for _, name := range required {
		if _, ok := cols[name]; !ok {
			return nil, fmt.Errorf("line 1: no %q column", name)
		}
	}
	var rows []row
	for {
		fields, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		rows = append(rows, row{line: line, cols: cols, fields: fields})
	}
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	tokyo, _ := time.LoadLocation(customer.DefaultTimezone)
	return time.ParseInLocation(time.DateOnly, s, tokyo)
}
