package customer_test

import (
	"testing"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

func TestLocationDefaultsToTokyo(t *testing.T) {
	for tz, want := range map[string]string{"": "Asia/Tokyo", "America/Los_Angeles": "America/Los_Angeles", "Not/AZone": "Asia/Tokyo"} {
		c := &customer.Customer{Timezone: tz}
		if got := c.Location().String(); got != want {
			t.Errorf("timezone %q: location %s, want %s", tz, got, want)
		}
	}
}

func TestSetBirthday(t *testing.T) {
	tests := []struct{ in, stored, md string }{
		{"1990-07-08", "1990-07-08", "07-08"},
		{"2000-02-29", "2000-02-29", "02-29"},
		{"02-29", "--02-29", "02-29"},
		{"12-24", "--12-24", "12-24"},
		{"", "", ""},
	}
	for _, tt := range tests {
		var c customer.Customer
		if err := c.SetBirthday(tt.in); err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if c.Birthday != tt.stored || c.BirthdayMD != tt.md {
			t.Errorf("%q: stored %q / %q, want %q / %q", tt.in, c.Birthday, c.BirthdayMD, tt.stored, tt.md)
		}
	}
	for _, bad := range []string{"1990-02-30", "13-01", "tomorrow", "1990/07/08"} {
		var c customer.Customer
		if err := c.SetBirthday(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
