-- wrk script: every request carries the next credential of the file named by the
-- environment variable CREDENTIALS, one request header per line ("Name: value"), cycling.
-- The requests are formatted once, in init, so the client's work per request is the same
-- whatever the credential; each wrk thread starts at its own place in the file.
local path = os.getenv("CREDENTIALS") or error("CREDENTIALS is not set")
local threads = 0

function setup(thread)
   thread:set("thread_index", threads)
   threads = threads + 1
end

local requests, n, i = {}, 0, 0

function init(args)
   for line in io.lines(path) do
      local name, value = line:match("^([^:]+):%s*(.-)%s*$")
      if name then
         n = n + 1
         requests[n] = wrk.format("GET", "/", { [name] = value })
      end
   end
   if n == 0 then
      error("no credentials in " .. path)
   end
   i = ((thread_index or 0) * 7919) % n
end

function request()
   i = i + 1
   if i > n then
      i = 1
   end
   return requests[i]
end
