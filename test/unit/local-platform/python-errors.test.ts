import { pythonRepr, validationFailure } from '../../../src/local-platform/python-errors.js';

describe('Python reprs in the Agentex server error messages', () => {
  it('renders JSON values as Python literals', () => {
    expect(pythonRepr({ a: [1, 2.5, true, false, null], "it's": 'say "hi"\n' })).toBe(`{'a': [1, 2.5, True, False, None], "it's": 'say "hi"\\n'}`);
    expect(pythonRepr("it's")).toBe(`"it's"`);
    expect(pythonRepr('both \' and "')).toBe(`'both \\' and "'`);
  });
});

describe('the 422 body of the Agentex server', () => {
  it('is str(RequestValidationError) with newlines flattened, as app.py renders it', () => {
    const reply = validationFailure([{ type: 'missing', loc: ['body', 'params'], msg: 'Field required', input: { method: 'task/create' } }]);
    expect(reply).toEqual({
      status: 422,
      body: {
        status_code: 10422,
        message: "1 validation error: {'type': 'missing', 'loc': ('body', 'params'), 'msg': 'Field required', 'input': {'method': 'task/create'}}",
        data: null,
      },
    });
  });
});
