package dynamo

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Every time the ledger stores is written here, in one form: UTC, fixed
// width, to the nanosecond ("2026-11-30T01:02:03.000000000Z"). Strings
// compare byte by byte, so only one fixed-width form makes conditions
// (updated_at = :was), key ranges (created_at >= :since) and sort order
// agree with the instants, whatever zone a clock is in.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// timeString is a time as the ledger stores it.
func timeString(t time.Time) string { return t.UTC().Format(timeLayout) }

// ts is a time as an expression value.
func ts(t time.Time) types.AttributeValue { return str(timeString(t)) }

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue { return &types.AttributeValueMemberN{Value: fmt.Sprint(n)} }

// marshal encodes an item, writing its times as timeString does and leaving
// out zero times tagged omitempty.
func marshal(v any) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMapWithOptions(v, func(o *attributevalue.EncoderOptions) {
		o.EncodeTime = func(t time.Time) (types.AttributeValue, error) { return ts(t), nil }
		o.OmitEmptyTime = true
	})
}

// unmarshal decodes an item. Times decode from any RFC 3339 form: the
// canonical one, and the forms written before it (the SDK encoder's, in each
// time's own zone, and RFC 3339 in UTC without trailing zeros), keeping the
// zone they were written in, so legacyForms can name them again.
func unmarshal(item map[string]types.AttributeValue, v any) error {
	return attributevalue.UnmarshalMap(item, v)
}

func unmarshalList(items []map[string]types.AttributeValue, v any) error {
	return attributevalue.UnmarshalListOfMaps(items, v)
}

// sameTime is a condition that attr holds t, as written now or as an item
// written before the canonical form held it: a record read from the ledger
// keeps the zone its time was stored in, and RFC 3339 with trimmed
// nanoseconds in that zone is the form it was stored as.
func sameTime(attr, name string, t time.Time, vals map[string]types.AttributeValue) string {
	canonical, legacy := timeString(t), t.Format(time.RFC3339Nano)
	vals[name] = str(canonical)
	if legacy == canonical {
		return attr + " = " + name
	}
	vals[name+"_legacy"] = str(legacy)
	return attr + " IN (" + name + ", " + name + "_legacy)"
}

// legacySlack widens a key range read from a time so that items written
// before the canonical form, in any zone (UTC-12 to UTC+14) and without
// trailing zeros, fall inside it too; callers then filter by the decoded
// instant.
const legacySlack = 26 * time.Hour
