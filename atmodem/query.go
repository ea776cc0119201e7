package atmodem

import "context"

// queryLines sends a query (AT+CMD? or AT+CMD) and parses, in order, every
// "<prefix>: ..." line of the answer with parse; other lines are skipped. A
// line parse cannot read fails the query with an unexpected-answer error
// naming line and the offending answer.
func queryLines[T any](ctx context.Context, m *Modem, line, prefix string, parse func(f []string) (T, bool)) ([]T, error) {
	resp, err := m.exec(ctx, request{line: line, index: -1})
	if err != nil {
		return nil, err
	}
	var out []T
	for _, l := range resp.lines {
		f, ok := infoFields(l, prefix)
		if !ok {
			continue
		}
		v, ok := parse(f)
		if !ok {
			return nil, unexpected(line, l)
		}
		out = append(out, v)
	}
	return out, nil
}
