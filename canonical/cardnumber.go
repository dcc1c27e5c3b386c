package canonical

// ContainsCardNumber reports whether s holds a run of 13 to 19 digits (spaces
// and dashes between them allowed, when the run stands as a word of its own)
// that passes the Luhn check: a payment card number that must not be stored,
// published or logged.
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
		n, last, separated := 0, i, false
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
				separated = true
				continue
			}
			break
		}
		// A separated run inside a word is part of an identifier, such as
		// the digit groups of a UUID (4e55b313-5809-4835-98d1-...), not a
		// card number written out.
		if separated && (i > 0 && isAlnum(s[i-1]) || last+1 < len(s) && isAlnum(s[last+1])) {
			continue
		}
		if n >= 13 && n <= 19 && luhnValid(digits[:n]) {
			return i, last + 1, true
		}
	}
	return 0, 0, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'z' }

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
