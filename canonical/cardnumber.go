package canonical

// ContainsCardNumber reports whether s holds a run of 13 to 19 digits (spaces
// and dashes between them allowed) that passes the Luhn check: a payment card
// number that must not be stored, published or logged.
func ContainsCardNumber(s string) bool {
	_, _, ok := FindCardNumber(s)
	return ok
}

// FindCardNumber returns the byte span [start, end) of the first Luhn-valid run
// of 13 to 19 digits in s.
func FindCardNumber(s string) (start, end int, ok bool) {
	for i := 0; i < len(s); i++ {
		// A run starts at a digit that does not continue an earlier run,
		// directly or across one separator.
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) ||
			(i > 1 && (s[i-1] == ' ' || s[i-1] == '-') && isDigit(s[i-2])) {
			continue
		}
		// Collect the digits of this run, skipping single separators. Only a
		// whole run of 13 to 19 digits counts: longer runs are ids, not cards.
		var digits [19]byte
		n, last := 0, i
		for j := i; j < len(s) && n < 20; j++ {
			c := s[j]
			if isDigit(c) {
				if n == 19 {
					n++ // too long to be a card number
					break
				}
				digits[n] = c
				n++
				last = j
				continue
			}
			if (c == ' ' || c == '-') && j+1 < len(s) && isDigit(s[j+1]) && j > 0 && isDigit(s[j-1]) {
				continue
			}
			break
		}
		if n >= 13 && n <= 19 && luhnValid(digits[:n]) {
			return i, last + 1, true
		}
	}
	return 0, 0, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func luhnValid(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}
