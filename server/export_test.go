package server

import "github.com/labstack/echo/v4"

// RateLimitBuckets returns how many buckets the address limiter of s
// holds (0 without one), so that tests see idle ones forgotten.
func RateLimitBuckets(s *Server) int {
	if s.addrLimit == nil {
		return 0
	}
	return s.addrLimit.size()
}

// HandleForTest registers h for method and path on s like its own routes,
// so that tests can make a route fail as none of the real ones does.
func HandleForTest(s *Server, method, path string, h echo.HandlerFunc) {
	s.echo.Add(method, path, h)
	s.routes[path] = true
}
