/** The Jeco Chat mark: the same drawing as icons/icon-source.png, as SVG so it stays crisp. */
export function Logo({ size = 40 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 100 100" aria-hidden="true" className="logo">
      <defs>
        <linearGradient id="jeco-logo-gradient" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stopColor="#4f46e5" />
          <stop offset="1" stopColor="#7c3aed" />
        </linearGradient>
      </defs>
      <rect x="4" y="4" width="92" height="92" rx="20" fill="url(#jeco-logo-gradient)" />
      <path
        d="M35 27h30a12 12 0 0 1 12 12v14a12 12 0 0 1-12 12H49L29 78l4-14a12 12 0 0 1-10-12V39a12 12 0 0 1 12-12z"
        fill="#fff"
      />
      <circle cx="38" cy="46" r="4.5" fill="#5b45e8" />
      <circle cx="50" cy="46" r="4.5" fill="#6042ea" />
      <circle cx="62" cy="46" r="4.5" fill="#663fec" />
    </svg>
  );
}
