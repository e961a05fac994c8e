package event_test

import (
	"strings"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/event"
)

var known = event.Known{Rank: func(id string) bool {
	return id == "royal" || id == "semi-royal" || id == "repeater" || id == "new"
}}

const good = `early_access: {ranks: [royal, semi-royal], days: 3}
events:
  - id: tea
    title: 茶会
    starts_at: "2026-12-12 14:00"
    zone: Asia/Tokyo
    place: 店舗
    capacity: 10
    audience: {ranks: [royal, repeater]}
`

func TestEventsYAMLIsReadWithItsEarlyAccess(t *testing.T) {
	f, err := event.Parse("events.yaml", []byte(good), known)
	if err != nil {
		t.Fatal(err)
	}
	e := f.Events[0]
	if got := e.StartsAt().UTC().Format("2006-01-02T15:04Z"); got != "2026-12-12T05:00Z" {
		t.Errorf("starts at %s", got)
	}
	if got := e.EarlyAt().Format("2006-01-02 15:04"); got != "2026-11-25 14:00" {
		t.Errorf("early wave at %s (invite 14 days before, royal 3 more)", got)
	}
	if e.ReminderDay() != "2026-12-11" {
		t.Errorf("reminder day %s", e.ReminderDay())
	}
}

func TestBadEventsYAMLIsRefusedNamingTheEventAndField(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"unknown rank", "[royal, repeater]", "[royal, vip]", `event tea: audience: no rank "vip"`},
		{"capacity zero", "capacity: 10", "capacity: 0", "event tea: capacity: 0"},
		{"negative capacity", "capacity: 10", "capacity: -3", "event tea: capacity: -3"},
		{"no zone", "    zone: Asia/Tokyo\n", "", "event tea: zone: required"},
		{"unknown zone", "zone: Asia/Tokyo", "zone: Mars/Olympus", `event tea: zone: unknown zone "Mars/Olympus"`},
		{"unparsable time", `"2026-12-12 14:00"`, `"12月12日 午後"`, "event tea: starts_at:"},
		{"early days negative", "    audience:", "    early: {ranks: [royal], days: -1}\n    audience:", "event tea: early.days: -1"},
		{"default early days negative", "days: 3}", "days: -2}", "early_access.days: -2"},
		{"no place", "    place: 店舗\n", "", "event tea: place: give a place or a url"},
		{"unknown field", "capacity: 10", "capacity: 10\n    capcity: 3", "capcity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(good, tt.from, tt.to, 1)
			if src == good {
				t.Fatal("test did not change the file")
			}
			_, err := event.Parse("templates/events.yaml", []byte(src), known)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "templates/events.yaml:") {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestEventPostbackAndLinks(t *testing.T) {
	id, a, err := event.ParsePostback(event.Postback("tea", event.No))
	if err != nil || id != "tea" || a != event.No {
		t.Errorf("round trip: %q %q %v", id, a, err)
	}
	if _, _, err := event.ParsePostback("fb=rating&v=5"); err != event.ErrNotOurs {
		t.Errorf("feedback data read as an event's: %v", err)
	}
	if _, _, err := event.ParsePostback("ev=tea&a=maybe"); err == nil {
		t.Error("a bad answer was accepted")
	}
	s := event.LinkSigner{Secret: []byte("k")}
	if ev, c, err := s.Check(s.Token("tea", "C1")); err != nil || ev != "tea" || c != "C1" {
		t.Errorf("link round trip: %q %q %v", ev, c, err)
	}
	if _, _, err := (event.LinkSigner{Secret: []byte("other")}).Check(s.Token("tea", "C1")); err == nil {
		t.Error("a link signed with another secret was accepted")
	}
}
