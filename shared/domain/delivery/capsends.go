package delivery

import (
	"maps"
	"slices"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// The frequency cap counts what a customer received from a record kept on
// the customer (customer.CapSends), by message key, written in the same
// transaction as each message that counts: deciding then needs no query of
// the customer's messages. A message that later fails or is skipped by the
// sender still counts until it leaves the window: the cap errs towards
// fewer messages.

// CountsTowardsCap reports whether a decided message takes a place under
// the cap: it will go out (or went), and it is not transactional.
func CountsTowardsCap(r message.Record) bool {
	return CountsAgainstCap(r.Status) && !Transactional(r.Kind)
}

// CapSendsOf rebuilds the record from a customer's messages, for a customer
// stored before the record was kept.
func CapSendsOf(recs []*message.Record) map[string]customer.CapSend {
	out := map[string]customer.CapSend{}
	for _, r := range recs {
		if CountsTowardsCap(*r) {
			out[string(r.Key)] = customer.CapSend{At: r.CreatedAt, Kind: string(r.Kind)}
		}
	}
	return out
}

// CapChange is what recording a decided message does to its customer's
// record: it adds the message, when it counts, and drops what has left the
// cap's window by the message's time. The zero value changes nothing.
type CapChange struct {
	Key  message.Key
	Send customer.CapSend // zero: the message does not count, and nothing changes
	// Keep is the rest of the record, within the window: what a record
	// written whole holds besides the message (for a customer stored before
	// the record was kept).
	Keep map[string]customer.CapSend
	// Drop are the entries that left the window.
	Drop []string
}

// Changes reports whether recording the message changes the record.
func (c CapChange) Changes() bool { return !c.Send.At.IsZero() }

// CapChange is the change recording r makes to sends, the record held for
// its customer (customer.CapSends, or CapSendsOf their messages).
func (p Policy) CapChange(sends map[string]customer.CapSend, r message.Record) CapChange {
	if !CountsTowardsCap(r) {
		return CapChange{}
	}
	since := p.Cap.Since(r.CreatedAt)
	ch := CapChange{Key: r.Key, Send: customer.CapSend{At: r.CreatedAt, Kind: string(r.Kind)}, Keep: map[string]customer.CapSend{}}
	for _, k := range slices.Sorted(maps.Keys(sends)) {
		switch s := sends[k]; {
		case k == string(r.Key):
		case s.At.After(since):
			ch.Keep[k] = s
		default:
			ch.Drop = append(ch.Drop, k)
		}
	}
	return ch
}
